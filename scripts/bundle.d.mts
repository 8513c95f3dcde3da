/** outdir is relative to the repository root. */
export declare function bundleApp(outdir?: string): Promise<void>;
/** outfile is relative to the repository root and must sit two folders below it, as dist/engine/ does. */
export declare function bundleEngine(outfile?: string): Promise<void>;
