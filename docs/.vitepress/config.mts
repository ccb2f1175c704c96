import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineConfig } from 'vitepress';
import { withMermaid } from 'vitepress-plugin-mermaid';

/**
 * The documentation site (`npm run docs`): one page per operator task, in the order an operator
 * meets them. Dead links between pages fail the build (VitePress's default, kept on purpose);
 * `npm run docs:check` then checks every link and anchor of the built site.
 */
export default withMermaid(
  defineConfig({
    title: 'fence-bucket-broker',
    description:
      'Presigned URLs for many buckets, for Gen3 Fence, with every credential in a secrets manager.',
    base: '/',
    cleanUrls: false,
    // The OpenAPI document is data, not a page; the generated reference tables are pages of their
    // own (GitHub readers follow plain links to them) as well as included into their topic pages.
    srcExclude: ['openapi.json'],
    themeConfig: {
      outline: [2, 3],
      sidebar: [
        {
          text: 'Operating the broker',
          items: [
            { text: 'Deploying with the CDK', link: '/deploying' },
            { text: 'Runtime configuration', link: '/configuration' },
            { text: 'Managing buckets', link: '/managing-buckets' },
            { text: 'The fence-buckets CLI', link: '/cli' },
            { text: 'MinIO key rotation runbook', link: '/rotation' },
            { text: 'Drift check and observability', link: '/drift' },
          ],
        },
        {
          text: 'Connecting Fence and secrets',
          items: [
            { text: 'Fence integration', link: '/fence' },
            { text: 'Secrets backends', link: '/secrets-backends' },
          ],
        },
        {
          text: 'Reference',
          items: [
            { text: 'Errors', link: '/errors' },
            { text: 'HTTP API', link: '/api' },
            { text: 'Security', link: '/security' },
            { text: 'Performance', link: '/performance' },
          ],
        },
        {
          text: 'Generated tables',
          collapsed: true,
          items: [
            { text: 'Context keys', link: '/reference/context-keys' },
            { text: 'Environment', link: '/reference/environment' },
            { text: 'Error codes', link: '/reference/errors' },
            { text: 'HTTP API routes', link: '/reference/http-api' },
          ],
        },
        {
          text: 'Developing',
          items: [
            { text: 'Testing', link: '/testing' },
            { text: 'Architecture', link: '/architecture' },
          ],
        },
      ],
    },
    // api.md links the OpenAPI document itself: it ships beside the pages.
    async buildEnd(site) {
      await copyFile(join(site.srcDir, 'openapi.json'), join(site.outDir, 'openapi.json'));
    },
  }),
);
