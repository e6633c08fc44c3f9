import { ApiError, NETWORK_ERROR_MESSAGE, csrfHeaders, errorFromResponse } from "./api";

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadHandle<T> {
  promise: Promise<T>;
  abort: () => void;
}

export interface UploadOptions {
  /** The multipart field of the file. */
  field?: string;
  /** More multipart fields, sent before the file so the server reads them first. */
  fields?: Record<string, string>;
}

/**
 * POSTs a file as multipart `field` with XMLHttpRequest, which (unlike fetch) reports how many
 * bytes have gone up. Resolves with the parsed JSON answer; rejects with an ApiError.
 */
export function uploadFile<T>(
  url: string,
  file: File,
  onProgress: (progress: UploadProgress) => void,
  { field = "file", fields = {} }: UploadOptions = {},
): UploadHandle<T> {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<T>((resolve, reject) => {
    xhr.open("POST", url);
    xhr.responseType = "text";
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
      else reject(errorFromResponse(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(NETWORK_ERROR_MESSAGE, 0));
    xhr.onabort = () => reject(new ApiError("The upload was cancelled.", 0));
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append(field, file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
