// Helper process for pushTestImages({ netns }): runs inside the registry's network
// namespace (started through nsenter) and pushes a layout's tags.
// Usage: push-main.ts REGISTRY REPO LAYOUT_DIR TAG[,TAG...]  → prints the pushed tags as JSON.
import { pushLayout } from './oci-push.ts';

const [registry, repo, layoutDir, tags] = process.argv.slice(2);
if (!registry || !repo || !layoutDir || !tags) {
  process.stderr.write('usage: push-main.ts REGISTRY REPO LAYOUT_DIR TAG[,TAG...]\n');
  process.exit(2);
}
const pushed = await pushLayout(registry, repo, layoutDir, { tags: tags.split(',') });
process.stdout.write(JSON.stringify(pushed) + '\n');
