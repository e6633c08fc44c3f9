import { useId, useState, type DragEvent } from "react";

const ACCEPTED = [".csv", ".csv.gz"];

export function isAcceptedFile(name: string): boolean {
  const lower = name.toLowerCase();
  return ACCEPTED.some((extension) => lower.endsWith(extension));
}

export interface FileDropProps {
  onFile: (file: File) => void;
  disabled?: boolean;
  /** Why it is disabled, shown in it. */
  note?: string;
}

/** Drop a catalog on it, or choose one with the keyboard or the mouse. */
export function FileDrop({ onFile, disabled, note }: FileDropProps) {
  const inputId = useId();
  const hintId = useId();
  const noteId = useId();
  const [dragging, setDragging] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  function take(files: FileList | null) {
    const file = files?.[0];
    if (!file) return;
    if (!isAcceptedFile(file.name)) {
      setProblem(`"${file.name}" is not a .csv or .csv.gz file.`);
      return;
    }
    setProblem(null);
    onFile(file);
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    if (!disabled) take(event.dataTransfer.files);
  }

  return (
    <div
      className={`dropzone${dragging ? " dropzone--active" : ""}`}
      onDragOver={(event) => {
        event.preventDefault();
        if (!disabled) setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <p id={hintId}>Drag a .csv or .csv.gz file here, or</p>
      <input
        id={inputId}
        className="visually-hidden"
        type="file"
        accept=".csv,.gz,text/csv,application/gzip"
        aria-describedby={note ? `${hintId} ${noteId}` : hintId}
        disabled={disabled}
        onChange={(event) => {
          take(event.target.files);
          event.target.value = "";
        }}
      />
      <label
        htmlFor={inputId}
        className={`button button--primary${disabled ? " is-disabled" : ""}`}
      >
        Choose a file
      </label>
      {note && (
        <p id={noteId} className="note">
          {note}
        </p>
      )}
      {problem && (
        <p className="error-message" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
