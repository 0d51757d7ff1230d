// One dispatch of a compute kernel and the buffers it needs: upload inputs, bind them, dispatch, read the output
// back, destroy everything. The WGSL kernels differ only in their shader, bindings and grid, so they share this.

/** GPUBufferUsage and GPUMapMode bits, as numbers: the globals exist in browsers but not in Node's Dawn package
 *  (which keeps them in its `globals` export), and the values are fixed by the WebGPU specification. */
export const BufferUsage = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const
const MAP_MODE_READ = 0x0001

export class GpuJob {
  readonly #device: GPUDevice
  readonly #buffers: GPUBuffer[] = []

  constructor(device: GPUDevice) {
    this.#device = device
  }

  /** A uniform buffer holding `bytes` (a webgpu-utils structured view's arrayBuffer). */
  uniform(bytes: ArrayBuffer): GPUBuffer {
    const buffer = this.#create(bytes.byteLength, BufferUsage.UNIFORM | BufferUsage.COPY_DST)
    this.#device.queue.writeBuffer(buffer, 0, bytes)
    return buffer
  }

  /** A storage buffer initialised with `data`; `extraUsage` e.g. COPY_SRC when the kernel writes its result there. */
  storage(data: Float32Array | Uint32Array, extraUsage = 0): GPUBuffer {
    const buffer = this.#create(data.byteLength, BufferUsage.STORAGE | BufferUsage.COPY_DST | extraUsage)
    this.#device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength)
    return buffer
  }

  /** An uninitialised (zeroed) storage buffer the kernel writes and the job reads back. */
  output(byteLength: number): GPUBuffer {
    return this.#create(byteLength, BufferUsage.STORAGE | BufferUsage.COPY_SRC)
  }

  /** Binds `resources` to group 0 in order (binding 0, 1, …), dispatches `workgroups`, copies `result` into a
   *  mappable buffer and resolves with its bytes once the GPU is done. */
  async dispatch(
    pipeline: GPUComputePipeline,
    resources: GPUBuffer[],
    workgroups: [number, number?],
    result: GPUBuffer,
  ): Promise<ArrayBuffer> {
    const [bytes] = await this.dispatchBindings(
      pipeline,
      resources.map((buffer, binding) => ({ binding, buffer })),
      workgroups,
      [result],
    )
    return bytes
  }

  /** `dispatch` in general: the group-0 bindings named (an 'auto' layout has only those its entry point uses), up to
   *  three dimensions of workgroups, and every buffer in `results` read back, in order. */
  async dispatchBindings(
    pipeline: GPUComputePipeline,
    bindings: ReadonlyArray<{ binding: number; buffer: GPUBuffer }>,
    workgroups: readonly [number, number?, number?],
    results: readonly GPUBuffer[],
  ): Promise<ArrayBuffer[]> {
    const device = this.#device
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: bindings.map(({ binding, buffer }) => ({ binding, resource: { buffer } })),
    })
    const readbacks = results.map((result) => this.#create(result.size, BufferUsage.MAP_READ | BufferUsage.COPY_DST))
    const encoder = device.createCommandEncoder()
    const pass = encoder.beginComputePass()
    pass.setPipeline(pipeline)
    pass.setBindGroup(0, bindGroup)
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1)
    pass.end()
    for (const [i, result] of results.entries()) encoder.copyBufferToBuffer(result, 0, readbacks[i], 0, result.size)
    device.queue.submit([encoder.finish()])
    return Promise.all(
      readbacks.map(async (readback) => {
        await readback.mapAsync(MAP_MODE_READ)
        const bytes = readback.getMappedRange().slice(0)
        readback.unmap()
        return bytes
      }),
    )
  }

  destroy(): void {
    for (const buffer of this.#buffers.splice(0)) buffer.destroy()
  }

  #create(size: number, usage: number): GPUBuffer {
    // Buffer sizes must be multiples of 4 for copies; every kernel's data is 4-byte elements already.
    const buffer = this.#device.createBuffer({ size: Math.max(4, Math.ceil(size / 4) * 4), usage })
    this.#buffers.push(buffer)
    return buffer
  }
}
