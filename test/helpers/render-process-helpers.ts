import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A live (not zombie) process of a process group, as /proc shows it. */
export type GroupMember = { pid: number; comm: string; nice: number; policy: number };

/** SCHED_IDLE in /proc/<pid>/stat's `policy` field (sched.h). */
export const SCHED_IDLE = 5;

/** The live processes whose process group is `pgid` (the render process leads its own). */
export function processesInGroup(pgid: number): GroupMember[] {
  const out: GroupMember[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // f[0] is field 3 of proc(5): state; pgrp is field 5, nice 19, policy 41.
    if (f[0] === 'Z' || Number(f[2]) !== pgid) continue;
    out.push({ pid: Number(entry), comm, nice: Number(f[16]), policy: Number(f[38]) });
  }
  return out;
}

/**
 * The nice of `pid`'s autogroup (`/autogroup-N nice K`), or undefined where no autogroup schedules it:
 * a kernel without autogroups (no such file), or a task the kernel keeps out of them (an empty file,
 * as in a container whose processes sit in a cgroup of their own). A session's autogroup is what the
 * CPU is shared between first.
 */
export function autogroupNice(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/autogroup`, 'utf8');
  } catch {
    return undefined;
  }
  if (text.trim() === '') return undefined;
  const nice = /nice (-?\d+)/.exec(text)?.[1];
  if (nice === undefined) throw new Error(`unexpected /proc/${pid}/autogroup: ${text}`);
  return Number(nice);
}

/** Polls `check` every 20 ms until it returns a value (not undefined), or fails after `ms`. */
export async function until<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Whether `file` is a whole MP4 (ffprobe reads its duration). A killed ffmpeg leaves none: with
 * `+faststart` the index (moov) is written last, so this tells a killed ffmpeg from one that finished.
 */
export function isWholeMp4(file: string): Promise<boolean> {
  return new Promise((resolve) =>
    execFile(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file],
      (e, out) => resolve(!e && Number(out) > 0),
    ),
  );
}
