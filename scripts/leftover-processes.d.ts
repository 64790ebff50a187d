export declare const RUN_MARKER: "CHARTER_TEST_RUN";
export interface Survivor {
  readonly pid: number;
  readonly ppid: number | undefined;
  readonly command: string;
}
export declare function survivors(marker: string): Survivor[];
export declare function killSurvivors(marker: string): Survivor[];
export declare function describeSurvivors(found: readonly Survivor[]): string;
