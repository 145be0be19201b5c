export { KEY_TYPES, generateKey, isKeyType, isMlDsa, keyTypeUnavailable, type KeyType } from './keys';
export { parseSans, type SubjectAltNames } from './names';
export {
  checkCA,
  createCA,
  createLeaf,
  selfSigned,
  type CADescription,
  type CAOptions,
  type CertificateAuthority,
  type IssuedCertificate,
  type LeafOptions,
  type SelfSignedOptions,
} from './certificates';
export { existingFiles, refuseOverwrite, shortPath, writePkiFiles, type PkiFile } from './files';
export { issueDirectory, plannedPaths, type CertificateReport, type DirectoryDocument, type DirectoryRequest } from './directory';
