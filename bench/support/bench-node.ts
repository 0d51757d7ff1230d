// A NoodleNode for benchmarks: TCP on 127.0.0.1 with an OS-picked port, no mDNS, quiet logs, and presence gossip
// slowed so that background traffic disturbs the measured round trips as little as it can.

// The Node shims and platform come straight from node/src: @noodlenet/node exports neither (it is the CLI's package).
import '../../node/src/shims.js'
import { NoodleNode, resolveConfig } from '@noodlenet/shared'
import { nodePlatform } from '../../node/src/platform.js'

export async function startBenchNode(): Promise<NoodleNode> {
  const config = resolveConfig([
    {
      source: 'bench',
      values: {
        network: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, presenceIntervalMs: 600_000 },
        monitoring: { logLevel: 'ERROR' },
      },
    },
  ])
  const node = await NoodleNode.create({ config, platform: nodePlatform() })
  await node.start()
  return node
}
