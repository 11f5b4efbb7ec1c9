// Models as safetensors files, with TransformerLens tensor names, and the hostile-input-safe reader.
// The public names of simulators/safetensors/: format.ts (the container: header parse and write,
// dtypes, limits, tensor names; the file layout is described there), export.ts (model → tensors)
// and import.ts (tensors → model).
export {
  MAX_DIM,
  MAX_HEADER_BYTES,
  METADATA_FIELDS,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type SafetensorsFile,
  type Tensor,
  type TensorOut,
  looksLikeSafetensors,
  parseSafetensors,
  tensorName,
  writeSafetensors,
} from './safetensors/format.ts';
export { type ExportOptions, type ExportResult, modelToSafetensors } from './safetensors/export.ts';
export { loadSafetensors } from './safetensors/import.ts';
