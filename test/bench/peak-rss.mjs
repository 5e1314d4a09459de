// Preloaded (`node --import`) into a benchmarked command: at exit, writes the process's peak
// resident set size in KiB to the file named by SCNYM_PEAK_RSS_FILE. Portable where
// `/usr/bin/time -v` is not installed, and it measures the command alone.
import { writeFileSync } from 'node:fs';

const file = process.env.SCNYM_PEAK_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
