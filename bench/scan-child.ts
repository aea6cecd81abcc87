/**
 * Runs one scan benchmark in a process of its own (bundled by bench/run.ts, started with plain `node`), so that its
 * peak resident memory is the scan's, not the harness's. Prints one JSON object.
 */
import type { ScanBenchOptions } from './scan';
import { runScanBench } from './scan';

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as ScanBenchOptions;
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 5);
  const result = await runScanBench(options);
  clearInterval(sampler);
  process.stdout.write(
    JSON.stringify({
      ...result,
      rssBeforeBytes: rssBefore,
      peakRssBytes: Math.max(peakRss, process.resourceUsage().maxRSS * 1024),
    })
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
