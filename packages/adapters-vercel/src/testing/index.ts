export {
  type BuildFailure,
  type RunningSource,
  type SourceRun,
  type StandInDeployment,
  type StandInEnv,
  type StandInFault,
  type StandInRequest,
  startVercelStandIn,
  type VercelStandIn,
  type VercelStandInOptions,
} from './stand-in.js';
