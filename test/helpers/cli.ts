import { spawn } from 'node:child_process';
import path from 'node:path';
import type pg from 'pg';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const MAIN = path.join(REPO_ROOT, 'src/main.ts');

/** A postgres:// URL for a test database (Unix-socket host in the query string, as libpq does). */
export function databaseUrl(target: pg.ClientConfig): string {
  const user = encodeURIComponent(String(target.user));
  const password = encodeURIComponent(String(target.password ?? ''));
  const host = String(target.host);
  const base = `postgresql://${user}:${password}@localhost:${target.port ?? 5432}/${target.database}`;
  return host.startsWith('/') ? `${base}?host=${encodeURIComponent(host)}` : base.replace('localhost', host);
}

export type CliResult = { code: number | null; stdout: string; stderr: string };

/** Runs the `layers` CLI as a separate process, as an operator would. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
