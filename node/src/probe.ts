// Native hardware probe for Node peers: cores and model, memory, load, GPUs (nvidia-smi, else /sys/class/drm),
// NPUs (/sys/class/accel). Every source is optional: a missing tool or file means "none found", never a crash.

import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import type { GpuInfo, HardwareProfile, NpuInfo } from '@noodlenet/shared'

const MB = 1024 * 1024

/** PCI vendor ids seen on GPUs and accelerators. */
const PCI_VENDORS: Record<string, string> = {
  '0x10de': 'NVIDIA',
  '0x1002': 'AMD',
  '0x8086': 'Intel',
  '0x13b5': 'ARM',
  '0x5143': 'Qualcomm',
  '0x1af4': 'Red Hat (virtio)',
  '0x1234': 'QEMU',
  '0x1414': 'Microsoft',
  '0x15ad': 'VMware',
}

export interface ProbeOptions {
  /** Root of the sysfs tree, for tests. */
  sysRoot?: string
  /** nvidia-smi executable; empty string skips it. */
  nvidiaSmi?: string
}

export async function probeHardware(options: ProbeOptions = {}): Promise<HardwareProfile> {
  const sysRoot = options.sysRoot ?? '/sys'
  const cpus = os.cpus()
  const [nvidia, drm, npus] = await Promise.all([
    options.nvidiaSmi === '' ? Promise.resolve([]) : probeNvidiaSmi(options.nvidiaSmi ?? 'nvidia-smi'),
    probeDrm(join(sysRoot, 'class/drm')),
    probeAccel(join(sysRoot, 'class/accel')),
  ])
  // nvidia-smi knows names and memory; /sys/class/drm only vendor ids. Prefer the richer source per vendor.
  const gpus = nvidia.length > 0 ? [...nvidia, ...drm.filter((gpu) => gpu.vendor !== 'NVIDIA')] : drm
  return {
    cpu: { cores: cpus.length || os.availableParallelism(), model: cpus[0]?.model?.trim(), arch: os.arch() },
    memory: { totalMB: Math.round(os.totalmem() / MB), freeMB: Math.round(os.freemem() / MB) },
    load: sampleLoad().load,
    gpus,
    npus,
  }
}

/** The cheap, changing part: free memory and one-minute load per core. */
export function sampleLoad(): { freeMB: number; load: number } {
  const cores = os.availableParallelism()
  return { freeMB: Math.round(os.freemem() / MB), load: Math.round((os.loadavg()[0] / cores) * 100) / 100 }
}

function run(command: string, args: string[], timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => resolve(err ? undefined : stdout))
  })
}

async function probeNvidiaSmi(command: string): Promise<GpuInfo[]> {
  const out = await run(command, ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'], 3_000)
  if (out === undefined) return []
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [name, memory] = line.split(',').map((part) => part.trim())
      const memoryMB = Number(memory)
      return { vendor: 'NVIDIA', name, memoryMB: Number.isFinite(memoryMB) ? memoryMB : undefined, source: 'nvidia-smi' }
    })
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch {
    return undefined
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch {
    return []
  }
}

async function probeDrm(dir: string): Promise<GpuInfo[]> {
  const cards = (await list(dir)).filter((name) => /^card\d+$/.test(name))
  const gpus: GpuInfo[] = []
  for (const card of cards) {
    const vendorId = await readTrimmed(join(dir, card, 'device/vendor'))
    if (vendorId === undefined) continue
    const deviceId = (await readTrimmed(join(dir, card, 'device/device'))) ?? 'unknown'
    const vramBytes = Number(await readTrimmed(join(dir, card, 'device/mem_info_vram_total')))
    gpus.push({
      vendor: PCI_VENDORS[vendorId] ?? vendorId,
      name: `${card} (PCI ${vendorId}:${deviceId})`,
      memoryMB: Number.isFinite(vramBytes) && vramBytes > 0 ? Math.round(vramBytes / MB) : undefined,
      source: 'sysfs-drm',
    })
  }
  return gpus
}

async function probeAccel(dir: string): Promise<NpuInfo[]> {
  const devices = (await list(dir)).filter((name) => /^accel\d+$/.test(name))
  const npus: NpuInfo[] = []
  for (const device of devices) {
    const driverLink = await readTrimmed(join(dir, device, 'device/uevent'))
    const driver = driverLink
      ?.split('\n')
      .find((line) => line.startsWith('DRIVER='))
      ?.slice('DRIVER='.length)
    const vendorId = await readTrimmed(join(dir, device, 'device/vendor'))
    npus.push({
      name: `${device}${vendorId === undefined ? '' : ` (${PCI_VENDORS[vendorId] ?? vendorId})`}`,
      driver,
      source: 'sysfs-accel',
    })
  }
  return npus
}
