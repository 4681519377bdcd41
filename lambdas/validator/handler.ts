// Placeholder entry so the app synthesizes while the function is written.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
