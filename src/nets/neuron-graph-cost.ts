// What a graph method pays to represent a network, for comparison with probing. Neural Graphs
// (Kofinas et al., ICLR 2024) turn a CNN into a graph with one node per neuron (each channel of
// each layer, and the input channels) and one edge per pair of connected channels, whose
// feature is the kernel between them; a message-passing network then runs over that graph.
// Their PNA backbone for CNN tasks: hidden size 128, 4 layers, edge features updated in every
// layer. The cost grows with every parameter of the network; probing's grows with the FLOPs
// of K forward passes.

/** One convolution or linear layer: channels in and out, and its kernel side (1 for linear). */
export interface ConnectedLayer {
  inChannels: number;
  outChannels: number;
  kernel: number;
}

export interface NeuronGraph {
  /** Neurons: input channels plus every layer's output channels. */
  nodes: number;
  /** Connected channel pairs (one per in x out of every layer). */
  edges: number;
  /** Values of the largest edge feature (the largest kernel's k x k). */
  edgeFeatures: number;
}

/** The neuron graph of a network given as its layers in forward order (the first layer's inputs are the input nodes). */
export function neuronGraph(layers: readonly ConnectedLayer[]): NeuronGraph {
  if (layers.length === 0) throw new RangeError("neuronGraph: no layers");
  let nodes = layers[0].inChannels, edges = 0, edgeFeatures = 1;
  for (const l of layers) {
    nodes += l.outChannels;
    edges += l.inChannels * l.outChannels;
    edgeFeatures = Math.max(edgeFeatures, l.kernel * l.kernel);
  }
  return { nodes, edges, edgeFeatures };
}

export interface MessagePassingSize {
  hidden: number;
  layers: number;
}

/** Neural Graphs' PNA for CNN tasks. */
export const NEURAL_GRAPHS_PNA: MessagePassingSize = { hidden: 128, layers: 4 };

/**
 * Forward FLOPs (2 per multiply-add) of one message-passing pass over the graph, counting only
 * the dense maps, so a lower bound: edge features embedded (k*k -> d), then per layer and edge a
 * message from [source, target, edge] (3d -> d) and an edge update (3d -> d), and per node
 * PNA's update from its 4 aggregators x 2 scalers and its own state (9d -> d).
 */
export function messagePassingFlops(g: NeuronGraph, size: MessagePassingSize = NEURAL_GRAPHS_PNA): number {
  const d = size.hidden;
  const embed = g.edges * g.edgeFeatures * d;
  const perLayer = g.edges * 6 * d * d + g.nodes * 9 * d * d;
  return 2 * (embed + size.layers * perLayer);
}

/** Floats one layer's node and edge states hold (what a batch of graphs keeps for backward, per layer). */
export function messagePassingStateFloats(g: NeuronGraph, size: MessagePassingSize = NEURAL_GRAPHS_PNA): number {
  return (g.nodes + g.edges) * size.hidden;
}
