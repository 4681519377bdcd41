/** The project's name: the stack name's prefix and the `Project` tag on every resource. */
export const PROJECT_NAME = 'EcommercePipeline';

/**
 * The stack name of a stage (context `stage`): `EcommercePipeline-<stage>`. `cdk deploy`, the
 * local cloud (stage `local`) and the metrics namespace (the stack name) all go by it.
 */
export function stackNameOf(stage: string): string {
  return `${PROJECT_NAME}-${stage}`;
}
