// My projects: the list and a form to create one.
import { get, post } from '../api.ts';
import type { PageProps } from '../main.tsx';
import { navigate } from '../router.ts';
import { ErrorBanner, Field, fieldErrors, formatTime, Loading, Page, useAction, useAsync } from '../ui.tsx';

export interface Project {
  id: string;
  name: string;
  created_at: string;
}

export function Projects(_props: PageProps) {
  const projects = useAsync(() => get<{ projects: Project[] }>('/projects'), []);
  const create = useAction(async (name: string) => {
    const { project } = await post<{ project: Project }>('/projects', { name });
    navigate(`/projects/${project.id}`);
  });
  const onSubmit = (event: Event) => {
    event.preventDefault();
    void create.act(String(new FormData(event.currentTarget as HTMLFormElement).get('name')).trim());
  };
  const list = projects.data?.projects ?? [];
  return (
    <Page title="Projects">
      <section aria-labelledby="new-project">
        <h2 id="new-project">New project</h2>
        {create.error !== undefined && <ErrorBanner error={create.error} title="Could not create the project" />}
        <form class="inline-form" onSubmit={onSubmit}>
          <Field label="Project name" name="name" required maxLength={200} error={fieldErrors(create.error).name} />
          <button type="submit" disabled={create.busy}>
            {create.busy ? 'Creating…' : 'Create project'}
          </button>
        </form>
      </section>
      <section aria-labelledby="my-projects">
        <h2 id="my-projects">My projects</h2>
        {projects.error !== undefined && <ErrorBanner error={projects.error} title="Could not load your projects" />}
        {projects.loading && !projects.data && <Loading label="Loading projects…" />}
        {projects.data && list.length === 0 && <p class="empty">No projects yet. Create one above.</p>}
        {list.length > 0 && (
          <ul class="cards">
            {list.map((project) => (
              <li key={project.id}>
                <a href={`/projects/${project.id}`}>{project.name}</a>
                <span class="muted">Created {formatTime(project.created_at)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </Page>
  );
}
