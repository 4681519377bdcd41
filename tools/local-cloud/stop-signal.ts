/** Lets the event source mappings' pollers sleep, and wakes them all at once on stop. */
export class StopSignal {
  stopped = false;
  private readonly wakers = new Set<() => void>();

  stop(): void {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    this.wakers.clear();
  }

  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
