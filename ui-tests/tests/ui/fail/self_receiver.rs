struct Repo;

impl Repo {
    #[resque::job(queue = "file_serve")]
    fn archive(&self, branch: String) {
        let _ = branch;
    }
}

fn main() {}
