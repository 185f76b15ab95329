export {
  type NeonStandIn,
  type NeonStandInOptions,
  type StandInOperation,
  type StandInRequest,
  startNeonStandIn,
} from './stand-in.js';
