import { createRequire } from 'node:module';

/**
 * dynalite and kinesalite (same author, same layout) each keep one module per operation in
 * `actions/` and its request checks in `validations/`, which their HTTP servers run in turn. The
 * local cloud calls them in this process the same way (services/dynalite-in-process.ts,
 * services/kinesalite-in-process.ts), so their answers are the emulators' own.
 */

const require = createRequire(import.meta.url);

interface EmulatorError extends Error {
  statusCode?: number;
  body?: Record<string, unknown>;
}
type Action<S> = (store: S, data: Record<string, unknown>, callback: (error: EmulatorError | null, data?: Record<string, unknown>) => void) => void;
interface ActionValidation {
  types: Record<string, unknown>;
  custom?: unknown;
}
interface Validations {
  toLowerFirst(name: string): string;
  checkTypes(data: Record<string, unknown>, types: Record<string, unknown>): Record<string, unknown>;
  /** The last argument is what the emulator's server passes: dynalite its store, kinesalite the operation. */
  checkValidations(data: Record<string, unknown>, types: Record<string, unknown>, custom: unknown, context: unknown): void;
}

export interface ActionAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface InProcessActions<S> {
  has(operation: string): boolean;
  /**
   * One operation as the emulator's server runs it: type checks, validations, the action; an
   * error the emulator answers with (status and body) is that answer. `undefined` for an
   * operation the emulator does not have.
   */
  run(operation: string, store: S, data: Record<string, unknown>, validationContext: unknown): Promise<ActionAnswer> | undefined;
}

export function loadActions<S>(emulator: 'dynalite' | 'kinesalite', operations: readonly string[]): InProcessActions<S> {
  const validations = require(`${emulator}/validations`) as Validations;
  const actions = new Map<string, { action: Action<S>; validation: ActionValidation }>();
  for (const operation of operations) {
    const name = validations.toLowerFirst(operation);
    actions.set(operation, {
      action: require(`${emulator}/actions/${name}`) as Action<S>,
      validation: require(`${emulator}/validations/${name}`) as ActionValidation,
    });
  }
  return {
    has: (operation) => actions.has(operation),
    run(operation, store, body, validationContext) {
      const entry = actions.get(operation);
      if (!entry) return undefined;
      return new Promise<ActionAnswer>((resolve, reject) => {
        let data: Record<string, unknown>;
        try {
          data = validations.checkTypes(body, entry.validation.types);
          validations.checkValidations(data, entry.validation.types, entry.validation.custom, validationContext);
        } catch (error) {
          const failure = error as EmulatorError;
          if (failure.statusCode && failure.body) resolve({ status: failure.statusCode, body: failure.body });
          else reject(error);
          return;
        }
        entry.action(store, data, (error, answer) => {
          if (error?.statusCode && error.body) resolve({ status: error.statusCode, body: error.body });
          else if (error) reject(error);
          // The servers send what the action returns as JSON: the same plain data here.
          else resolve({ status: 200, body: answer ?? {} });
        });
      });
    },
  };
}
