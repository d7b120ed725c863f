export function demoMain(_args: string[]): Promise<number> {
  console.log("demo: not yet");
  return Promise.resolve(0);
}
