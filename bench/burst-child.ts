/**
 * Runs one burst in a process of its own (bundled by bench/run.ts and started with plain `node`), so that its peak
 * resident memory is the handler's, not the benchmark harness's. Prints one JSON object.
 */
import type { BurstOptions } from './burst';
import { runBurst } from './burst';

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as BurstOptions;
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 5);
  const result = await runBurst(options);
  clearInterval(sampler);
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    JSON.stringify({
      ...result,
      rssBeforeBytes: rssBefore,
      peakRssBytes: Math.max(peakRss, maxRssBytes),
    })
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
