export interface GeneratedTarget {
  readonly schema: string;
  readonly output: string;
}
export declare const targets: readonly GeneratedTarget[];
export declare function render(schemaPath: string): Promise<string>;
export declare const validatorTargets: readonly GeneratedTarget[];
export declare function renderValidator(schemaPath: string): Promise<string>;
