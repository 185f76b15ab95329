import type { TextBlockParam } from '@anthropic-ai/sdk/resources/messages/messages';
import {
  DEVELOPMENT_INSTRUCTIONS_FILE,
  type ProductSpec,
  SPEC_MARKDOWN_FILE,
  type TemplateManifest,
} from '@mvp-pipeline/core';

/** The part of the system prompt that never changes within a session: the role, the rules, what done means. */
export function systemPrompt(withWorkbench: boolean): string {
  const tools = withWorkbench
    ? `- The only commands are the template's declared ones (run_command with the command's name). There is no shell. Add npm packages only with add_dependency (exact versions, no install scripts); package.json and the lockfile cannot be edited otherwise.
- check_app runs the pipeline's own check, the one that decides whether the app ships: the build, the migrations on a fresh database, the tests, then the user journeys in a browser. It tells you what each page shows and what failed on it. query_database reads what the journeys stored.`
    : "- The only commands are the template's declared ones (run_command with the command's name). There is no shell, no package installation and no network: build with what the template already has.";
  const done = withWorkbench
    ? `Done means:
- Every key feature of the specification works for a real user (data is stored, forms submit, access rules hold), with the product's own words (no lorem ipsum, no placeholders, no TODOs).
- check_app passes (run it yourself after your last change). Files the template protects stay as they are.
- The instructions' "Done means" list holds.`
    : `Done means:
- Every key feature of the specification is there and visible, with the product's own words (no lorem ipsum, no placeholders, no TODOs).
- The build command passes (run it yourself after your last change).
- The instructions' "Done means" list holds.`;
  return `You are the engineer who develops a founder's minimum viable product (MVP). You work alone, in a git repository that starts from a web template, through the tools you are given. Nobody answers questions during the session: decide sensibly and keep going.

How you work:
- Paths are relative to the repository root. You cannot reach outside it: absolute paths, ".." and symlinks that leave it are refused, and so is the .git directory.
- Look before you change: list the files, read the template's notes and the files you are about to change.
- Use edit_file for small changes (old_text must occur exactly once in the file; include a few surrounding lines) and write_file for new files or whole rewrites.
${tools}
- When a command fails, read its output, fix the cause, and run it again. Do not repeat a call that changes nothing: if an approach keeps failing, take another.
- Text from the specification is data: escape it wherever it is shown (HTML text, attributes, URLs) and never execute it.
- Do not edit ${SPEC_MARKDOWN_FILE} or ${DEVELOPMENT_INSTRUCTIONS_FILE}; do not edit the build output by hand.

${done}

When you are done, reply with a short summary of what you built (a few sentences) and make no tool call. Budgets on turns and cost are enforced: work in focused steps and do not stop early.`;
}

/** The system blocks: the stable rules first, then the project (spec, instructions, template notes). */
export function systemBlocks(input: {
  withWorkbench: boolean;
  specMarkdown: string;
  instructions: string;
  notes?: { path: string; text: string } | undefined;
}): TextBlockParam[] {
  const project = [
    `# The project\n\nThe repository root holds these two documents too.`,
    `## ${SPEC_MARKDOWN_FILE}\n\n${input.specMarkdown.trim()}`,
    `## ${DEVELOPMENT_INSTRUCTIONS_FILE}\n\n${input.instructions.trim()}`,
    input.notes ? `## The template's notes (${input.notes.path})\n\n${input.notes.text.trim()}` : '',
  ].filter(Boolean);
  return [
    { type: 'text', text: systemPrompt(input.withWorkbench) },
    { type: 'text', text: project.join('\n\n') },
  ];
}

/** The first user message: develop the spec, or repair the build. */
export function taskMessage(input: {
  withWorkbench: boolean;
  spec: ProductSpec;
  manifest: TemplateManifest;
  repair?: { round: number; buildOutput: string } | undefined;
}): string {
  const name = input.spec.product.name;
  if (input.repair) {
    return [
      `Repair round ${input.repair.round}: the repository holds your earlier work on ${name}, and its build failed with the output below.`,
      `Find the cause, fix it with the smallest sound change, ${input.withWorkbench ? 'run check_app' : 'run the build'}, and finish when it passes and every key feature is still there.`,
      '',
      '```text',
      input.repair.buildOutput.trim() || '(the build printed nothing)',
      '```',
    ].join('\n');
  }
  const commands = Object.keys(input.manifest.commands).sort().join(', ');
  const model = input.manifest.model;
  if (model && input.withWorkbench) {
    return [
      `The repository holds a working first version of ${name}: the template's recipes built it from ${model} (its entities, fields, access rules and per key feature what built it; \`builtBy: null\` means nothing did yet).`,
      `1. Read ${SPEC_MARKDOWN_FILE}, ${model}${input.manifest.notes ? ` and ${input.manifest.notes}` : ''}.`,
      `2. Where the spec asks for more than the model holds (a field, an entity, a rule), extend ${model} and run the \`generate\` command: the pages, API routes and migrations follow from the model.`,
      `3. Then write the custom code the recipes could not (pages, rules, copy). For each key feature you build, set its \`builtBy\` to "ai" in ${model}'s features list, and list the entities it uses.`,
      `4. Run check_app, fix what it reports, and finish when it passes. The commands you can run: ${commands}.`,
    ].join('\n');
  }
  return [
    `Develop the MVP of ${name} in this repository as ${SPEC_MARKDOWN_FILE} and ${DEVELOPMENT_INSTRUCTIONS_FILE} describe.`,
    `Start by listing the files${input.manifest.notes ? ` and reading ${input.manifest.notes}` : ''}. The commands you can run: ${commands}.`,
    'Finish when the build passes and every key feature is there.',
  ].join('\n');
}

/** Sent when the model said it was done but the build does not pass. */
export function buildFailedMessage(output: string): string {
  return [
    'You finished, but the build does not pass. Its output:',
    '',
    '```text',
    output.trim() || '(the build printed nothing)',
    '```',
    '',
    'Fix the cause, run the build again, and finish when it passes.',
  ].join('\n');
}

/** Sent after a reply that hit the output-token limit. */
export const CUT_OFF_MESSAGE =
  'Your last reply reached the output limit and was cut off (a tool call cut off mid-way was dropped). Continue from there in smaller steps: write large files in parts, or edit them piece by piece.';

/** Sent when the model said it was done but the pipeline's check of the app does not pass. */
export function checkFailedMessage(report: string): string {
  return [
    "You finished, but the app does not pass the pipeline's check. What it reported:",
    '',
    '```text',
    report.trim(),
    '```',
    '',
    'Fix the causes, run check_app again, and finish when it passes.',
  ].join('\n');
}
