/** The real clock: wall time, timers and `Math.random`. Tests and the demo use `FixedClock` from `in-memory.ts`. */
import type { Clock } from '../application/ports';

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  random(): number {
    return Math.random();
  }
}

export const systemClock: Clock = new SystemClock();
