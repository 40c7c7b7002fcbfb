// Request and response schemas of the render API.
import { Type } from '@sinclair/typebox';

export const RenderBody = Type.Object(
  { markdown: Type.String({ description: 'Markdown (raw HTML in it is shown as text); at most MAX_RENDER_SIZE bytes' }) },
  { additionalProperties: false },
);

export const RenderedSchema = Type.Object({
  html: Type.String({ description: 'Sanitized HTML; include themes.css for the token colours' }),
});

export function toRendered(html: string): { html: string } {
  return { html };
}
