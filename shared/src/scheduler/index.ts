// The scheduler core: task declarations, what is known of each peer, the cost model, scoring strategies,
// placement and the priority queue. Pure logic, no networking; docs/SCHEDULER.md describes it.

export {
  type Candidate,
  type CandidateInit,
  CUSTOM_KERNELS,
  candidateFromProfile,
  hostsKernel,
  type PeerHealth,
  withHealth,
} from './candidates.js'
export { CostModel, type CostModelOptions, copyEstimate, type Estimate, emptyEstimate, type PreparedTask } from './cost-model.js'
export { type DispatchOptions, type DispatchStep, dispatchNext } from './dispatch.js'
export { type PlacementDecision, type PlacementOptions, placeTask, UnplaceableError } from './placement.js'
export {
  BUILTIN_STRATEGIES,
  breakTies,
  cheapest,
  fastest,
  localFirst,
  type ScoringStrategy,
  StrategyRegistry,
  spread,
} from './strategies.js'
export {
  inputByteLength,
  inputProblem,
  KERNEL_NAME,
  PLACEMENTS,
  type Placement,
  parseTask,
  type TaskDeclaration,
  type TaskDeclarationInput,
  TaskDeclarationSchema,
  type TaskRequirements,
  TaskRequirementsSchema,
} from './task.js'
export { QueuedTask, TaskQueue, type TaskQueueOptions } from './task-queue.js'
