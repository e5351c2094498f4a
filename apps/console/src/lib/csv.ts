/** Enough CSV reading for the training-set builder's preview: the header, the first rows and the row count (RFC 4180 quoting). */
export interface CsvPreview {
  columns: string[];
  rows: string[][];
  rowCount: number;
}

export function parseCsvRows(text: string, limit = Number.POSITIVE_INFINITY): { rows: string[][]; total: number } {
  const rows: string[][] = [];
  let total = 0;
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let any = false;
  const endRow = () => {
    row.push(field);
    field = '';
    if (!(row.length === 1 && row[0] === '' && !any)) {
      if (rows.length < limit) rows.push(row);
      total++;
    }
    row = [];
    any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') {
      quoted = true;
      any = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
      any = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else {
      field += c;
      any = true;
    }
  }
  if (field !== '' || row.length || any) endRow();
  return { rows, total };
}

export function csvPreview(text: string, rows = 5): CsvPreview {
  const { rows: all, total } = parseCsvRows(text, rows + 1);
  const [header = [], ...body] = all;
  return { columns: header.map((h) => h.trim()), rows: body, rowCount: Math.max(0, total - 1) };
}
