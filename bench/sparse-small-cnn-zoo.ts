// A Small CNN Zoo folder of CIFAR10-GS's shape, made for measuring a streamed import: weights.npy
// of rows x 4970 float32 as a sparse file (its size on disk is the header and a few rows),
// layout.csv with CIFAR10-GS's variables, metrics.csv.gz with its columns (9 checkpoints per
// network, steps 0..86), and NFN's split file (header "0", then a seeded permutation).
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Rng } from "../src/engine/index.js";
import { npyHeader } from "../src/io/npy.js";

export const CIFAR10_GS_ROWS = 270_000;
const STEPS = [0, 1, 2, 3, 20, 40, 60, 80, 86];
const ROW = 4970;

const LAYOUT = `varname,start_idx,end_idx,shape
sequential/conv2d/bias:0,0,16,"(16,)"
sequential/conv2d/kernel:0,16,160,"(3, 3, 1, 16)"
sequential/conv2d_1/bias:0,160,176,"(16,)"
sequential/conv2d_1/kernel:0,176,2480,"(3, 3, 16, 16)"
sequential/conv2d_2/bias:0,2480,2496,"(16,)"
sequential/conv2d_2/kernel:0,2496,4800,"(3, 3, 16, 16)"
sequential/dense/bias:0,4800,4810,"(10,)"
sequential/dense/kernel:0,4810,4970,"(16, 10)"
`;

/**
 * Writes the folder; `nanRows` rows at the last step get a NaN weight (the import must leave them
 * out). Returns the number of networks a step-86 import should keep.
 */
export function writeSparseSmallCnnZoo(dir: string, rows: number, nanRows = 1, seed = 0): number {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed, "sparse-small-cnn-zoo");
  writeFileSync(join(dir, "layout.csv"), LAYOUT);
  const header = npyHeader([rows, ROW]);
  const fd = openSync(join(dir, "weights.npy"), "w");
  let marked = 0;
  try {
    writeSync(fd, header);
    ftruncateSync(fd, header.length + rows * ROW * 4);
    // A few rows with values, so the import's transposes see numbers and its finiteness check a NaN.
    const row = new Float32Array(ROW);
    for (let r = 0; r < Math.min(rows, 20); r++) {
      rng.fillNormal(row, 0, 0.1);
      writeSync(fd, new Uint8Array(row.buffer), 0, row.byteLength, header.length + r * ROW * 4);
    }
    for (let r = STEPS.length - 1; r < rows && marked < nanRows; r += STEPS.length * 97, marked++) {
      row.fill(0);
      row[100] = NaN;
      writeSync(fd, new Uint8Array(row.buffer), 0, row.byteLength, header.length + r * ROW * 4);
    }
  } finally {
    closeSync(fd);
  }
  const cols = "config.activation,config.w_init,config.init_std,config.learning_rate,config.optimizer,config.l2reg,config.dropout,config.train_fraction,config.dataset,config.dnn_architecture,config.num_layers,config.num_units,config.random_seed,modeldir,step,test_accuracy,test_loss,train_accuracy,train_loss";
  const lines = [cols];
  for (let r = 0; r < rows; r++) {
    const n = Math.floor(r / STEPS.length), step = STEPS[r % STEPS.length];
    const acc = (0.1 + 0.5 * rng.uniform()).toFixed(4);
    lines.push(`${n % 2 ? "tanh" : "relu"},he_normal,0.05,0.003,adam,0.0001,0.1,0.5,cifar10,cnn,3,16,${1000 + n},zoo/${n},${step},${acc},2.0,0.5,1.5`);
  }
  writeFileSync(join(dir, "metrics.csv.gz"), gzipSync(lines.join("\n") + "\n", { level: 1 }));
  const perm = rng.shuffle(Int32Array.from({ length: rows }, (_, i) => i));
  writeFileSync(join(dir, "nfn_split.csv"), `0\n${Array.from(perm).join("\n")}\n`);
  return Math.floor(rows / STEPS.length) - marked;
}
