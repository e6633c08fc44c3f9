import { useId, useState } from "react";
import { Button, ErrorMessage } from "@/components/ui";
import { formatBytes } from "@/lib/format";
import type { UploadRequest } from "./api";
import { FIELDS, mappingFor, mappingProblems, rowsAsMapped, sendableMapping } from "./columns";
import { FIELD_LABELS, MappingFields } from "./MappingFields";
import { ProfileControls } from "./ProfileControls";
import type { FileSample } from "./sample";
import type { ImportOptions, Mapping, OnError } from "./types";

/** A chosen file, and what the browser could read of its start. */
export interface ChosenFile {
  file: File;
  sample: FileSample | null;
  /** Why its start could not be read; the server then guesses the columns itself. */
  readError: unknown;
}

export interface ImportSetupProps {
  chosen: ChosenFile;
  onSubmit: (request: UploadRequest) => void;
  onCancel: () => void;
}

/**
 * Look before you import: the file's columns with the field each fills (guessed from the header as
 * the server would), its first rows as they will be imported, the options, saved profiles, and
 * the two ways on: a preview of the changes, or the import itself.
 */
export function ImportSetup({ chosen, onSubmit, onCancel }: ImportSetupProps) {
  const id = useId();
  const { file, sample, readError } = chosen;
  const columns = sample?.columns ?? [];
  // The user's choices; the columns they do not name keep their guess.
  const [choices, setChoices] = useState<Mapping>({});
  const [onError, setOnError] = useState<OnError>("skip");
  const [updateExisting, setUpdateExisting] = useState(true);
  const [profileId, setProfileId] = useState<number | null>(null);

  const mapping = mappingFor(columns, choices);
  const problems = sample ? mappingProblems(columns, mapping) : [];
  const reading = sample === null && !readError;
  const options: ImportOptions = {
    on_error: onError,
    update_existing: updateExisting,
    mapping: sendableMapping(mapping),
  };

  function submit(dryRun: boolean) {
    onSubmit({
      dryRun,
      mapping: sample ? options.mapping : null,
      on_error: onError,
      update_existing: updateExisting,
      profile: profileId,
    });
  }

  return (
    <section className="card setup" aria-label={`Import of ${file.name}`}>
      <div className="job__header">
        <h3 className="job__title">{file.name}</h3>
        <span className="muted small">{formatBytes(file.size)}</span>
      </div>
      {reading && <p className="muted">Reading the first lines…</p>}
      <ErrorMessage
        error={readError}
        prefix="The columns cannot be shown here; the server will recognise them from the header:"
      />
      <ProfileControls
        profileId={profileId}
        current={options}
        disabled={reading}
        onPick={(profile) => {
          setProfileId(profile?.id ?? null);
          if (!profile) return;
          setChoices(profile.mapping);
          setOnError(profile.on_error);
          setUpdateExisting(profile.update_existing);
        }}
      />
      {sample && (
        <>
          <MappingFields
            columns={columns}
            mapping={mapping}
            onChange={(next) => setChoices({ ...choices, ...next })}
          />
          <SampleRows sample={sample} mapping={mapping} />
        </>
      )}
      <div className="setup__options">
        <fieldset className="fieldset">
          <legend>On a bad row</legend>
          <Radio
            name={`${id}-on-error`}
            checked={onError === "skip"}
            onChange={() => setOnError("skip")}
          >
            Skip it
          </Radio>
          <Radio
            name={`${id}-on-error`}
            checked={onError === "abort"}
            onChange={() => setOnError("abort")}
          >
            Abort the whole import
          </Radio>
        </fieldset>
        <fieldset className="fieldset">
          <legend>Existing products</legend>
          <Radio
            name={`${id}-update-existing`}
            checked={updateExisting}
            onChange={() => setUpdateExisting(true)}
          >
            Overwrite them
          </Radio>
          <Radio
            name={`${id}-update-existing`}
            checked={!updateExisting}
            onChange={() => setUpdateExisting(false)}
          >
            Leave them as they are (create only)
          </Radio>
        </fieldset>
      </div>
      <div className="setup__actions">
        <Button onClick={() => submit(true)} disabled={reading || problems.length > 0}>
          Preview changes
        </Button>
        <Button
          variant="primary"
          onClick={() => submit(false)}
          disabled={reading || problems.length > 0}
        >
          Import now
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </section>
  );
}

function SampleRows({ sample, mapping }: { sample: FileSample; mapping: Mapping }) {
  const rows = rowsAsMapped(sample.columns, mapping, sample.rows);
  if (rows.length === 0) return <p className="muted">The file has no rows after its header.</p>;
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="The first rows as imported">
      <table className="table">
        <caption className="visually-hidden">
          The first {rows.length} rows as they will be imported
        </caption>
        <thead>
          <tr>
            {FIELDS.map((field) => (
              <th key={field} scope="col">
                {FIELD_LABELS[field]}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={index}>
              {FIELDS.map((field) => (
                <td key={field} className={field === "description" ? "description" : undefined}>
                  {row[field]}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Radio({
  name,
  checked,
  onChange,
  children,
}: {
  name: string;
  checked: boolean;
  onChange: () => void;
  children: string;
}) {
  return (
    <label className="checkbox">
      <input type="radio" name={name} checked={checked} onChange={onChange} />
      {children}
    </label>
  );
}
