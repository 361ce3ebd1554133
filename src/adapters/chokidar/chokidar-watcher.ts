import { watch } from 'chokidar'
import type { ChangeWatcher } from '../../core/ports/scheduler.js'

/** ChangeWatcher on chokidar 5: the initial scan is not reported; symlinks are not followed. */
export class ChokidarWatcher implements ChangeWatcher {
  async watch(folder: string, onChange: () => void): Promise<{ close(): Promise<void> }> {
    const w = watch(folder, { ignoreInitial: true, followSymlinks: false, persistent: true, awaitWriteFinish: false })
    w.on('all', () => onChange())
    w.on('error', () => onChange())
    await new Promise<void>((resolve) => w.once('ready', () => resolve()))
    return { close: () => w.close() }
  }
}
