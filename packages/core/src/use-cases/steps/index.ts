import type { WorkStep } from '../../domain/steps.js';
import { build } from './build.js';
import type { StepHandler } from './context.js';
import { createRepo } from './create-repo.js';
import { deploy } from './deploy.js';
import { develop } from './develop.js';
import { fetchData } from './fetch-data.js';

export * from './context.js';
export { MAX_CHECKPOINTED_SPEC_BYTES } from './fetch-data.js';
export { WorkspaceHolder } from './workspace-holder.js';

/** One handler per work step, in the pipeline's order. */
export const STEP_HANDLERS: { [S in WorkStep]: StepHandler<S> } = {
  FETCHING_DATA: fetchData,
  CREATING_REPO: createRepo,
  AI_DEVELOPMENT: develop,
  BUILDING: build,
  DEPLOYING: deploy,
};
