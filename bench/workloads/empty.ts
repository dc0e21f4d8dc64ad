// W6: a program whose main returns at once; what is measured is the pool's start and exit.
export async function main(): Promise<void> {}
