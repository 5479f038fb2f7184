// Shapes one statement's result as Neon's JSON (docs/neon-http.md): {"fields":[...],"rows":[...],"command","rowCount",
// "rowAsArray"}. Rows are written as they arrive, so the 10 MiB response limit (507) is enforced before a huge
// result is held in memory. Object rows keep column order and repeated names, as Neon writes them.
import type { FieldDef } from "pg";
import { HttpError } from "./errors";
import { MAX_RESPONSE_BYTES } from "./limits";
import { typedJson } from "./typed-values";

export interface ResultShape {
  arrayMode: boolean;
  /** Neon-Raw-Text-Output: every value is a JSON string or null; otherwise some types become JSON values. */
  rawTextOutput: boolean;
}

/** The bytes one response may still use; shared by the statements of a batch. */
export class ResponseBudget {
  constructor(private remaining: number = MAX_RESPONSE_BYTES) {}

  spend(text: string): void {
    this.remaining -= Buffer.byteLength(text);
    if (this.remaining < 0) throw new HttpError(507, `response is too large (max is ${MAX_RESPONSE_BYTES} bytes)`);
  }
}

export class ResultWriter {
  private fields: FieldDef[] | undefined;
  private keys: string[] = [];
  private readonly rows: string[] = [];

  constructor(
    private readonly shape: ResultShape,
    private readonly budget: ResponseBudget,
  ) {}

  addRow(values: readonly (string | null)[], fields: FieldDef[]): void {
    if (!this.fields) this.useFields(fields);
    const json = this.shape.arrayMode ? this.arrayRow(values) : this.objectRow(values);
    this.budget.spend(json);
    this.rows.push(json);
  }

  finish(fields: FieldDef[], command: string | null, rowCount: number | null): string {
    if (!this.fields) this.useFields(fields);
    const head = `{"fields":${fieldsJson(this.fields ?? [])},"rows":[`;
    const tail = `],"command":${JSON.stringify(command ?? "")},"rowCount":${rowCount ?? "null"},"rowAsArray":${this.shape.arrayMode}}`;
    this.budget.spend(head + tail);
    return head + this.rows.join(",") + tail;
  }

  private useFields(fields: FieldDef[]): void {
    this.fields = fields;
    this.keys = fields.map((field) => `${JSON.stringify(field.name)}:`);
  }

  private value(text: string | null, index: number): string {
    if (text === null) return "null";
    if (this.shape.rawTextOutput) return JSON.stringify(text);
    return typedJson(text, this.fields?.[index]?.dataTypeID ?? 0);
  }

  private arrayRow(values: readonly (string | null)[]): string {
    return `[${values.map((text, index) => this.value(text, index)).join(",")}]`;
  }

  private objectRow(values: readonly (string | null)[]): string {
    return `{${values.map((text, index) => this.keys[index] + this.value(text, index)).join(",")}}`;
  }
}

function fieldsJson(fields: FieldDef[]): string {
  return JSON.stringify(
    fields.map((field) => ({
      name: field.name,
      dataTypeID: field.dataTypeID,
      tableID: field.tableID,
      columnID: field.columnID,
      dataTypeSize: field.dataTypeSize,
      dataTypeModifier: field.dataTypeModifier,
      format: "text",
    })),
  );
}
