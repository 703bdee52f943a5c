import { describe, expect, it } from 'vitest';
import { splitCsvLine } from './csv.js';

describe('splitCsvLine', () => {
  it('splits on commas and trims fields', () => {
    expect(splitCsvLine('92, 115,120 ,grey soil')).toEqual(['92', '115', '120', 'grey soil']);
    expect(splitCsvLine('')).toEqual(['']);
    expect(splitCsvLine('a,,b,')).toEqual(['a', '', 'b', '']);
  });

  it('keeps commas inside double quotes and reads "" as a quote', () => {
    expect(splitCsvLine('7,"Forest, mixed",x')).toEqual(['7', 'Forest, mixed', 'x']);
    expect(splitCsvLine('"x.1","classes"')).toEqual(['x.1', 'classes']);
    expect(splitCsvLine('1,"the ""best"" class"')).toEqual(['1', 'the "best" class']);
  });

  it('quoted fields without commas read like unquoted ones; a stray quote does not split', () => {
    expect(splitCsvLine(' 1 , 2 ," 3 "')).toEqual(splitCsvLine(' 1 , 2 ,3'));
    expect(splitCsvLine('92,115,"grey soil"')).toEqual(['92', '115', 'grey soil']);
    expect(splitCsvLine('"",x')).toEqual(['', 'x']);
    // A quote inside an unquoted field toggles quoting, as RFC 4180 readers do: no split inside.
    expect(splitCsvLine('a"b,c"d,e')).toEqual(['ab,cd', 'e']);
    expect(splitCsvLine('"a,b" , "c"')).toEqual(['a,b', 'c']);
  });
});
