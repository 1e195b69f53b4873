// The part of onnx/onnx.proto (IR version 3 and later) that a model's inference graph uses, as
// protobufjs reflection: field numbers and types as the .proto declares them. The onnx-proto
// package ships the same definitions, but for protobufjs 6; defining the messages here keeps
// one protobufjs. Fields probegen does not read (training info, quantization annotations,
// sparse tensors' contents) are left out: protobuf skips unknown fields.
import protobuf from "protobufjs/light.js";

const field = (id: number, type: string, rule?: "repeated") => (rule ? { id, type, rule } : { id, type });

const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: field(1, "string"), refAttrName: field(21, "string"), type: field(20, "int32"),
            f: field(2, "float"), i: field(3, "int64"), s: field(4, "bytes"), t: field(5, "TensorProto"), g: field(6, "GraphProto"),
            floats: field(7, "float", "repeated"), ints: field(8, "int64", "repeated"), strings: field(9, "bytes", "repeated"),
            tensors: field(10, "TensorProto", "repeated"), graphs: field(11, "GraphProto", "repeated"),
          },
        },
        ValueInfoProto: { fields: { name: field(1, "string"), type: field(2, "TypeProto") } },
        NodeProto: {
          fields: {
            input: field(1, "string", "repeated"), output: field(2, "string", "repeated"), name: field(3, "string"),
            opType: field(4, "string"), domain: field(7, "string"), attribute: field(5, "AttributeProto", "repeated"),
          },
        },
        ModelProto: {
          fields: {
            irVersion: field(1, "int64"), opsetImport: field(8, "OperatorSetIdProto", "repeated"),
            producerName: field(2, "string"), producerVersion: field(3, "string"), domain: field(4, "string"),
            modelVersion: field(5, "int64"), docString: field(6, "string"), graph: field(7, "GraphProto"),
            metadataProps: field(14, "StringStringEntryProto", "repeated"),
          },
        },
        StringStringEntryProto: { fields: { key: field(1, "string"), value: field(2, "string") } },
        GraphProto: {
          fields: {
            node: field(1, "NodeProto", "repeated"), name: field(2, "string"), initializer: field(5, "TensorProto", "repeated"),
            sparseInitializer: field(15, "SparseTensorProto", "repeated"),
            input: field(11, "ValueInfoProto", "repeated"), output: field(12, "ValueInfoProto", "repeated"), valueInfo: field(13, "ValueInfoProto", "repeated"),
          },
        },
        TensorProto: {
          fields: {
            dims: field(1, "int64", "repeated"), dataType: field(2, "int32"),
            floatData: field(4, "float", "repeated"), int32Data: field(5, "int32", "repeated"), stringData: field(6, "bytes", "repeated"),
            int64Data: field(7, "int64", "repeated"), name: field(8, "string"), rawData: field(9, "bytes"),
            externalData: field(13, "StringStringEntryProto", "repeated"), dataLocation: field(14, "int32"),
            doubleData: field(10, "double", "repeated"), uint64Data: field(11, "uint64", "repeated"),
          },
        },
        SparseTensorProto: { fields: { dims: field(3, "int64", "repeated") } },
        TensorShapeProto: {
          fields: { dim: field(1, "Dimension", "repeated") },
          nested: { Dimension: { oneofs: { value: { oneof: ["dimValue", "dimParam"] } }, fields: { dimValue: field(1, "int64"), dimParam: field(2, "string") } } },
        },
        TypeProto: {
          oneofs: { value: { oneof: ["tensorType", "sequenceType", "mapType"] } },
          fields: { tensorType: field(1, "Tensor"), sequenceType: field(4, "Sequence"), mapType: field(5, "Map") },
          nested: {
            Tensor: { fields: { elemType: field(1, "int32"), shape: field(2, "TensorShapeProto") } },
            Sequence: { fields: { elemType: field(1, "TypeProto") } },
            Map: { fields: { keyType: field(1, "int32"), valueType: field(2, "TypeProto") } },
          },
        },
        OperatorSetIdProto: { fields: { domain: field(1, "string"), version: field(2, "int64") } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
export const ModelProtoType = root.lookupType("onnx.ModelProto");

/** ONNX's TensorProto.DataType numbers that probegen reads, and their element sizes in bytes. */
export const ONNX_DTYPES = {
  1: { name: "float32", bytes: 4 }, 2: { name: "uint8", bytes: 1 }, 3: { name: "int8", bytes: 1 }, 4: { name: "uint16", bytes: 2 },
  5: { name: "int16", bytes: 2 }, 6: { name: "int32", bytes: 4 }, 7: { name: "int64", bytes: 8 }, 9: { name: "bool", bytes: 1 },
  10: { name: "float16", bytes: 2 }, 11: { name: "float64", bytes: 8 }, 12: { name: "uint32", bytes: 4 }, 13: { name: "uint64", bytes: 8 },
  16: { name: "bfloat16", bytes: 2 },
} as const;
export type OnnxDtypeCode = keyof typeof ONNX_DTYPES;
export type OnnxDtype = (typeof ONNX_DTYPES)[OnnxDtypeCode]["name"];

/** AttributeProto.AttributeType. */
export const ONNX_ATTRIBUTE_TYPES = { 1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph", 6: "floats", 7: "ints", 8: "strings", 9: "tensors", 10: "graphs", 11: "sparse_tensor", 12: "sparse_tensors" } as const;
