// What an app that embeds a node uses from the core, re-exported by both entries: the node and its task API, the
// errors it throws, tokens, and the kernels' input and output types. The internal packages are not published, so
// everything a caller names comes from here.

export {
  type CapabilityPolicy,
  decodeToken,
  encodeToken,
  type IssueOptions,
  isNoodleError,
  issueToken,
  type LogSink,
  type MandelbrotInput,
  type MandelbrotOutput,
  type MapResult,
  type MatmulInput,
  type MatmulOutput,
  type NodeProfile,
  type NoodleConfig,
  type NoodleConfigInput,
  NoodleError,
  type NoodleErrorCode,
  NoodleNode,
  type NoodleNodeEvents,
  type PeerSummary,
  type RunOptions,
  type SaxpyInput,
  type SaxpyOutput,
  type SecurityLevel,
  type TaskOutcome,
  type TaskProgress,
} from '@noodlenet/shared'
