import Papa from "papaparse";

/** How much of a file the browser reads (after decompressing a .gz) to show its first rows. */
export const SAMPLE_BYTES = 256 * 1024;
export const SAMPLE_ROWS = 5;

/** A file's header, exactly as written, and its first data rows. */
export interface FileSample {
  columns: string[];
  rows: string[][];
}

/**
 * The header and the first rows of a catalog, read from its start only: a slice of a .csv, or
 * the first decompressed bytes of a .csv.gz (through the browser's DecompressionStream). Read as
 * the server reads it: UTF-8, commas between fields, quotes around fields that need them.
 * Rejects with an Error in words when the start cannot be read.
 */
export async function readSample(file: File, limit = SAMPLE_BYTES): Promise<FileSample> {
  const { bytes, complete } = isGzip(file)
    ? await readGzipStart(file, limit)
    : {
        bytes: new Uint8Array(await file.slice(0, limit).arrayBuffer()),
        complete: file.size <= limit,
      };
  return parseSample(new TextDecoder("utf-8").decode(bytes, { stream: !complete }), complete);
}

/** `text` from a file's start; `complete` when it is the whole file, else its last line is cut. */
export function parseSample(text: string, complete: boolean): FileSample {
  const usable = complete ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  if (!usable.trim()) {
    throw new Error(
      complete ? "The file is empty." : "The header row is too long to be shown here.",
    );
  }
  const parsed = Papa.parse<string[]>(usable, {
    delimiter: ",",
    preview: SAMPLE_ROWS + 1,
    skipEmptyLines: true,
  });
  const [columns = [], ...rows] = parsed.data;
  return { columns, rows };
}

function isGzip(file: File): boolean {
  return file.name.toLowerCase().endsWith(".gz");
}

async function readGzipStart(
  file: File,
  limit: number,
): Promise<{ bytes: Uint8Array; complete: boolean }> {
  if (typeof DecompressionStream === "undefined") {
    throw new Error("This browser cannot decompress a .gz file to show its columns.");
  }
  const reader = file.stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = false;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) {
        complete = true;
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  } catch {
    throw new Error("The file is not a readable gzip file.");
  } finally {
    // Only the start is wanted: stop decompressing the rest.
    reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes: bytes.subarray(0, limit), complete: complete && size <= limit };
}
