export interface FoundImport {
  specifier: string;
  typeOnly: boolean;
  line: number;
}
export declare function importsOf(file: string, text: string): FoundImport[];
/** Every import that breaks a layer rule, as 'file:line: specifier — reason'. */
export declare function checkLayers(root: string): string[];
