export { TINY_APP, writeTinyTemplate } from './fixtures.js';
export {
  approxTokens,
  type MessagesStandIn,
  type MessagesStandInOptions,
  type OverloadOptions,
  type RecordedRequest,
  type ScriptContext,
  type StandInBlock,
  type StandInReply,
  type StandInScript,
  type StandInUsage,
  startMessagesStandIn,
} from './messages-stand-in.js';
export {
  badRequest,
  cutOff,
  endTurn,
  overloaded,
  rateLimited,
  refusal,
  scripted,
  spendLimit,
  toolCalls,
} from './script.js';
