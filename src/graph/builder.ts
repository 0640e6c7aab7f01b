/**
 * A small typed ONNX graph builder. `emit` writes raw ONNX nodes; `apply` runs a differentiable
 * op (an OpDef from ./ops) and records it on the tape so `autodiff.gradients` can sweep it back.
 * Shapes are tracked at build time (numbers or symbolic names such as "batch") so gradient rules
 * can reduce broadcast axes without run-time shape logic.
 * A layer that emits a GEMM (linear, later conv) records its `LayerShape` with `recordLayer`,
 * computed from its operands' build-time shapes, so the cost model's shapes come from the graph.
 */
import type { LayerShape } from './layers.js';
import {
  type AttributeValue,
  type Dim,
  type GraphData,
  type NodeData,
  type TensorProtoData,
  type ValueInfoData,
  TensorDataType,
} from './proto.js';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint32' | 'uint8' | 'int8' | 'bool';
export type { Dim };

export const ONNX_TYPE: Record<DType, TensorDataType> = {
  float32: TensorDataType.FLOAT,
  float64: TensorDataType.DOUBLE,
  int64: TensorDataType.INT64,
  int32: TensorDataType.INT32,
  uint32: TensorDataType.UINT32,
  uint8: TensorDataType.UINT8,
  int8: TensorDataType.INT8,
  bool: TensorDataType.BOOL,
};

export interface Value {
  readonly name: string;
  readonly dtype: DType;
  /** Build-time shape; null when the rank is unknown. */
  readonly shape: readonly Dim[] | null;
}

export type Attrs = Record<string, number | string | readonly number[] | AttributeValue>;

/** A differentiable op: its forward emission and its gradient rule live together. */
export interface OpDef<A = unknown> {
  readonly name: string;
  forward(g: Graph, inputs: readonly Value[], attrs: A): Value[];
  /**
   * Emit the gradient of each input given the gradients of the outputs (null = no gradient flows
   * into that output). `needs[i]` says whether input i needs a gradient; return null for others.
   */
  backward(g: Graph, ctx: TapeEntry<A>, outputGrads: readonly (Value | null)[], needs: readonly boolean[]): (Value | null)[];
}

export interface TapeEntry<A = unknown> {
  readonly op: OpDef<A>;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: A;
}

function toAttribute(value: Attrs[string]): AttributeValue {
  if (typeof value === 'number') return Number.isInteger(value) ? { kind: 'int', value } : { kind: 'float', value };
  if (typeof value === 'string') return { kind: 'string', value };
  if (Array.isArray(value)) {
    const arr = value as readonly number[];
    return arr.every((v) => Number.isInteger(v)) ? { kind: 'ints', value: arr } : { kind: 'floats', value: arr };
  }
  return value as AttributeValue;
}

export function floatAttr(value: number): AttributeValue {
  return { kind: 'float', value };
}

function rawBytes(dtype: DType, values: ArrayLike<number> | readonly bigint[]): Uint8Array {
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(values as ArrayLike<number>).buffer);
    case 'float64':
      return new Uint8Array(Float64Array.from(values as ArrayLike<number>).buffer);
    case 'int64':
      return new Uint8Array(BigInt64Array.from(Array.from(values as ArrayLike<number>, (v) => BigInt(v))).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(values as ArrayLike<number>).buffer);
    case 'uint32':
      return new Uint8Array(Uint32Array.from(values as ArrayLike<number>).buffer);
    case 'uint8':
      return Uint8Array.from(values as ArrayLike<number>);
    case 'int8':
      return new Uint8Array(Int8Array.from(values as ArrayLike<number>).buffer);
    case 'bool':
      return Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
  }
}

export class Graph {
  readonly nodes: NodeData[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers: TensorProtoData[] = [];
  readonly tape: TapeEntry<any>[] = [];
  /** GEMM layers emitted into this graph, in emission order (see `recordLayer`). */
  readonly layers: LayerShape[] = [];
  private used = new Set<string>();
  private counter = 0;
  private constants = new Map<string, Value>();

  /**
   * @param name graph name
   * @param floatType float type of this graph's activations (float64 for gradient checks)
   * @param scope names already taken by an enclosing graph (for Loop bodies)
   */
  constructor(
    readonly name: string,
    readonly floatType: 'float32' | 'float64' = 'float32',
    readonly prefix = '',
  ) {}

  /** A fresh tensor name based on `hint`. */
  fresh(hint: string): string {
    let name = this.prefix + hint;
    while (this.used.has(name)) name = `${this.prefix}${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`graph ${this.name}: duplicate name ${name}`);
    this.used.add(name);
  }

  input(name: string, dtype: DType, shape: readonly Dim[] | null): Value {
    this.reserve(name);
    const v: Value = { name, dtype, shape };
    this.inputs.push(v);
    return v;
  }

  /** Declare an existing value as a graph output, under `name` (an Identity is added if renamed). */
  output(value: Value, name = value.name): Value {
    let out = value;
    if (name !== value.name) {
      this.reserve(name);
      this.nodes.push({ opType: 'Identity', name: `${name}_identity`, inputs: [value.name], outputs: [name], attributes: {} });
      out = { name, dtype: value.dtype, shape: value.shape };
    }
    this.outputs.push(out);
    return out;
  }

  initializer(name: string, dtype: DType, shape: readonly number[], values: ArrayLike<number>): Value {
    this.reserve(name);
    return this.addInitializer(name, dtype, shape, values);
  }

  private addInitializer(name: string, dtype: DType, shape: readonly number[], values: ArrayLike<number>): Value {
    this.initializers.push({ name, dataType: ONNX_TYPE[dtype], dims: shape, raw: rawBytes(dtype, values) });
    return { name, dtype, shape };
  }

  /** A constant tensor (cached by value), emitted as an initializer. */
  constant(dtype: DType, shape: readonly number[], values: ArrayLike<number>, hint = 'const'): Value {
    const key = `${dtype}|${shape.join(',')}|${Array.from(values).join(',')}`;
    const cached = this.constants.get(key);
    if (cached) return cached;
    const value = this.addInitializer(this.fresh(hint), dtype, shape, values);
    this.constants.set(key, value);
    return value;
  }

  /** A scalar constant of this graph's float type. */
  scalar(value: number): Value {
    return this.constant(this.floatType, [], [value], 'c');
  }

  ints(values: readonly number[]): Value {
    return this.constant('int64', [values.length], values, 'ints');
  }

  /**
   * Emit one raw ONNX node. `outputs` gives dtype and shape of each output (the builder does no
   * ONNX shape inference of its own; ops compute shapes).
   */
  emit(opType: string, inputs: readonly (Value | null)[], attrs: Attrs, outputs: readonly { dtype: DType; shape: readonly Dim[] | null; hint?: string }[]): Value[] {
    const outs = outputs.map((o) => ({ name: this.fresh(o.hint ?? opType.toLowerCase()), dtype: o.dtype, shape: o.shape }));
    const attributes: Record<string, AttributeValue> = {};
    for (const [k, v] of Object.entries(attrs)) attributes[k] = toAttribute(v);
    this.nodes.push({
      opType,
      name: this.fresh(`n_${opType}`),
      inputs: inputs.map((i) => (i === null ? '' : i.name)),
      outputs: outs.map((o) => o.name),
      attributes,
    });
    return outs;
  }

  /** Emit a node with one output. */
  emit1(opType: string, inputs: readonly (Value | null)[], attrs: Attrs, dtype: DType, shape: readonly Dim[] | null, hint?: string): Value {
    return this.emit(opType, inputs, attrs, [{ dtype, shape, hint }])[0]!;
  }

  /** Run a differentiable op and record it on the tape. */
  apply<A>(op: OpDef<A>, inputs: readonly Value[], attrs: A): Value[] {
    const outputs = op.forward(this, inputs, attrs);
    this.tape.push({ op, inputs, outputs, attrs });
    return outputs;
  }

  apply1<A>(op: OpDef<A>, inputs: readonly Value[], attrs: A): Value {
    return this.apply(op, inputs, attrs)[0]!;
  }

  /** Record that a GEMM layer with this shape was emitted here; layer names are unique per graph. */
  recordLayer(shape: LayerShape): void {
    const recorded = this.layers.find((l) => l.name === shape.name);
    if (this.replaying) {
      // a second pass over the same layers (SVRG's gradient at the anchor): each must be one recorded
      if (!recorded || JSON.stringify(recorded) !== JSON.stringify(shape)) throw new Error(`graph ${this.name}: layer ${shape.name} replayed with another shape`);
      return;
    }
    if (recorded) throw new Error(`graph ${this.name}: duplicate layer name ${shape.name}`);
    this.layers.push(shape);
  }

  private replaying = false;

  /** Emit `body` as a second pass over layers already recorded (they are checked, not recorded again). */
  replay<T>(body: () => T): T {
    const was = this.replaying;
    this.replaying = true;
    try {
      return body();
    } finally {
      this.replaying = was;
    }
  }

  toGraphData(extra?: { docString?: string }): GraphData {
    const info = (v: Value): ValueInfoData => ({ name: v.name, elemType: ONNX_TYPE[v.dtype], shape: v.shape });
    return {
      name: this.name,
      nodes: this.nodes,
      inputs: this.inputs.map(info),
      outputs: this.outputs.map(info),
      initializers: this.initializers,
      docString: extra?.docString,
    };
  }
}

/** Numpy-style broadcast of two build-time shapes. */
export function broadcastShapes(a: readonly Dim[] | null, b: readonly Dim[] | null): Dim[] | null {
  if (a === null || b === null) return null;
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1 || da === db) out.push(da);
    else throw new Error(`cannot broadcast shapes [${a.join(',')}] and [${b.join(',')}]`);
  }
  return out;
}

export function numel(shape: readonly Dim[]): number {
  return shape.reduce<number>((n, d) => {
    if (typeof d !== 'number') throw new Error(`shape [${shape.join(',')}] has a symbolic dimension`);
    return n * d;
  }, 1);
}
