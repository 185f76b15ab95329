export {
  type BuildFailure,
  type StandInDeployment,
  type StandInFault,
  type StandInRequest,
  startVercelStandIn,
  type VercelStandIn,
  type VercelStandInOptions,
} from './stand-in.js';
