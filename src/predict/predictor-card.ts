// A shipped predictor's card: what it predicts and from which networks, the zoos and commands it
// was made with, its test score with the spread over seeds, what it costs a network, and the
// score that `probegen predictors check` reproduces on a rebuilt part of its test split.

/** One zoo a predictor was trained or tested on, and the command that builds it. */
export interface CardZoo {
  name: string;
  /** The `probegen zoo build` arguments after `zoo build` (no --out). */
  build: string[];
  networks: number;
  /** Its shard files: what `--shard I/N` divides. */
  shards: number;
  splits: { train: number; val: number; test: number };
  /** How its networks were made, in words (e.g. "SIRENs, DWSNets' initialisation, ~23 dB"). */
  recipe: string;
}

/** A test score over seeds: each seed's, their mean and (sample) standard deviation. */
export interface SeedScores {
  perSeed: number[];
  mean: number;
  std: number;
}

export interface PredictorCard {
  name: string;
  title: string;
  /** What it predicts, in words. */
  predicts: string;
  /** The networks it takes: each kind of file, in words. */
  accepts: string[];
  task: "classification" | "regression";
  /** accuracy (classification) or Kendall's tau of predicted against true values (regression). */
  metric: "accuracy" | "kendallTau";
  zoos: CardZoo[];
  /** The zoo it trains on (one of zoos, or several merged in this order). */
  trainZoos: string[];
  /** The `probegen train` arguments (no --zoo, --out or --seed). */
  train: string[];
  seeds: number[];
  /** The seed whose run this file holds. */
  shippedSeed: number;
  /** Test scores over the seeds, on every test zoo's test split together and on each alone. */
  test: SeedScores & { networks: number; byZoo: ({ zoo: string; networks: number } & SeedScores)[] };
  /** The shipped seed's own test score. */
  shippedTest: number;
  /** What `predictors check` rebuilds: one shard of a test zoo, and the shipped run's score on its test networks. */
  check: { zoo: string; shard: number; networks: number; score: number };
  method: string;
  readout: string;
  probes: number;
  head: { width: number; depth: number };
  flopsPerNetwork: number;
  /** What was given up for size, in words. */
  traded: string;
  backend: string;
  probegenVersion: string;
}

/** The card as lines of text, for `probegen predictors`. */
export function cardText(c: PredictorCard, bytes: number): string[] {
  const score = (v: number) => (c.metric === "accuracy" ? `${(100 * v).toFixed(2)}%` : v.toFixed(3));
  const spread = (s: SeedScores) => (c.metric === "accuracy" ? `${(100 * s.mean).toFixed(2)} ± ${(100 * s.std).toFixed(2)}%` : `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}`);
  const metric = c.metric === "accuracy" ? "accuracy" : "Kendall's tau";
  const lines = [
    `${c.name}: ${c.title}`,
    `  predicts   ${c.predicts}`,
    ...c.accepts.map((a, i) => `  ${i === 0 ? "accepts   " : "          "} ${a}`),
    `  test       ${metric} ${spread(c.test)} over seeds ${c.seeds.join(", ")} (${c.test.networks} networks); this file (seed ${c.shippedSeed}): ${score(c.shippedTest)}`,
    ...c.test.byZoo.length > 1 ? c.test.byZoo.map((z) => `             ${z.zoo}: ${spread(z)} (${z.networks} networks)`) : [],
    `  method     ${c.method}, K = ${c.probes}, ${c.readout} readout, head ${c.head.depth} x ${c.head.width}; ${formatFlops(c.flopsPerNetwork)} per network`,
    ...c.zoos.map((z, i) => `  ${i === 0 ? "zoos      " : "          "} ${z.name}: ${z.networks} networks (${z.splits.train}/${z.splits.val}/${z.splits.test}), ${z.recipe}`),
    `  size       ${(bytes / 1024).toFixed(0)} KiB; ${c.traded}`,
  ];
  return lines;
}

export function formatFlops(f: number): string {
  return f >= 1e9 ? `${(f / 1e9).toFixed(2)} GFLOPs` : f >= 1e6 ? `${(f / 1e6).toFixed(1)} MFLOPs` : `${(f / 1e3).toFixed(1)} kFLOPs`;
}

/** The cards as one Markdown table (the README's and docs/predictors.md's). */
export function cardsMarkdown(cards: readonly { card: PredictorCard; bytes: number }[]): string {
  const metric = (c: PredictorCard) => (c.metric === "accuracy" ? "accuracy" : "Kendall's τ");
  const spread = (c: PredictorCard, mean: number, std: number) => (c.metric === "accuracy" ? `${(100 * mean).toFixed(2)} ± ${(100 * std).toFixed(2)} %` : `${mean.toFixed(3)} ± ${std.toFixed(3)}`);
  const rows = cards.map(({ card: c, bytes }) => {
    const kinds = c.test.byZoo.length > 1 ? ` (${c.test.byZoo.map((z) => `${z.zoo}: ${spread(c, z.mean, z.std)}`).join("; ")})` : "";
    return `| \`${c.name}\` | ${c.predicts} | ${metric(c)} ${spread(c, c.test.mean, c.test.std)}${kinds} | ${c.test.networks} | ${(bytes / 2 ** 20).toFixed(1)} MB |`;
  });
  return ["| predictor | predicts | test score, 3 seeds | test networks | size |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}
