/** A file that cannot be read as what it should be. The message starts with the file's path. */
export class FileFormatError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = new.target.name;
  }
}
