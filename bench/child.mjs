// Runs a bench script in a child node process and takes the JSON figures on its last stdout line.
import { spawn } from 'node:child_process';

/** Resolves with the child's last stdout line parsed as JSON; rejects if it fails or outlives `limitMs`. */
export function childFigures(script, args, limitMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${args.join(' ')}: exited with ${code ?? signal}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}
