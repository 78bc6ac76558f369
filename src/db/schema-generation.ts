import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date, Date>;

/** Content generations (migration 0018; registry class generated_media). */
export interface GenerationsTable {
  id: string;
  org_id: string;
  project_id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  provider: 'default' | 'openai' | 'anthropic' | 'vertex';
  model: string;
  retention_mode: 'zero_retention' | 'no_training' | 'narrowest_prompt';
  outputs: string[];
  brief: ColumnType<unknown, string, string>;
  copy: ColumnType<unknown, string | null, string | null>;
  error_code: string | null;
  error_message: string | null;
  prompt_sha256: string | null;
  prompt_bytes: number | null;
  attempts: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  completed_at: Timestamp | null;
}

/** Stored media objects (migration 0018; registry class generated_media). */
export interface MediaAssetsTable {
  id: string;
  org_id: string;
  project_id: string;
  generation_id: string | null;
  kind: 'image' | 'video';
  content_type: string;
  width: number;
  height: number;
  duration_ms: number | null;
  bytes: ColumnType<string, number, never>;
  sha256: string;
  store: 'fs' | 's3';
  storage_key: string;
  created_at: Timestamp;
}
