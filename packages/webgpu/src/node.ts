// @noodlenet/webgpu/node: WebGPU in Node through the `webgpu` package (Dawn). Browser bundles never import this
// file. DawnProcess (a device in a child process) is the way to run kernels; loadDawnGpu gives the GPU object
// in-process, for probes that only ask for an adapter.

export { type DawnAdapterChoice, DawnProcess, type DawnProcessOptions, swiftShaderEnvironment, type TimedOutput } from './dawn-process.js'

/** The `webgpu` package's GPU object in this process, or undefined when the package (an optional dependency) is
 *  not installed. Running kernels on it in-process risks the node on a native crash: prefer DawnProcess. */
export async function loadDawnGpu(): Promise<GPU | undefined> {
  try {
    const { create } = await import('webgpu')
    return create([])
  } catch {
    return undefined
  }
}
