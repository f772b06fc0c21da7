declare module 'dynalite' {
  import type { Server } from 'node:http';
  /** dynalite 4: DynamoDB's API in process, on an in-memory LevelDB when no `path` is given. */
  export default function dynalite(options?: {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }): Server;
}
