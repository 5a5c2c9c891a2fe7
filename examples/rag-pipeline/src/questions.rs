//! The questions the pipeline answers: what someone learning Rust asks, topic by topic.

/// Questions about Rust, in the order the book covers their topics.
pub(crate) const QUESTIONS: &[&str] = &[
    "How do I install Rust and create a new project with Cargo?",
    "What does cargo build --release do differently from cargo build?",
    "How do I declare a mutable variable?",
    "What is the difference between a constant and an immutable variable?",
    "What is shadowing of variables?",
    "Which integer types does Rust have and how does integer overflow behave?",
    "How do tuples and arrays differ?",
    "How do functions return values without the return keyword?",
    "How do loop, while and for loops differ?",
    "What is ownership and what are the ownership rules?",
    "What happens to a String when it goes out of scope and drop is called?",
    "What is the difference between move and clone for heap data?",
    "Which types implement the Copy trait?",
    "What are references and borrowing?",
    "Why can I have only one mutable reference to a value at a time?",
    "What is a dangling reference and how does the compiler prevent it?",
    "What is a string slice and why is &str used for function parameters?",
    "How do I define a struct and create an instance of it?",
    "How do I define methods with an impl block and the self parameter?",
    "What are associated functions such as String::from?",
    "How do I define an enum whose variants hold data?",
    "What is the Option enum and why does Rust have no null?",
    "How does the match expression work and why must it be exhaustive?",
    "When should I use if let instead of match?",
    "What are packages, crates and modules?",
    "How do I control privacy with pub in modules?",
    "How do use paths bring items into scope?",
    "How do I store values in a vector and read its elements?",
    "Why can't I index into a String to get a character?",
    "How do I count words with a HashMap and the entry API?",
    "When should a program panic instead of returning an error?",
    "How do I handle recoverable errors with Result?",
    "What does the question mark operator do when propagating errors?",
    "What is the difference between unwrap and expect?",
    "How do generic type parameters remove code duplication?",
    "How do I define a trait and implement it for a type?",
    "What are trait bounds and where clauses?",
    "What are default implementations of trait methods?",
    "What are lifetime annotations and why does the borrow checker need them?",
    "What are the lifetime elision rules?",
    "What does the 'static lifetime mean?",
    "How do I write unit tests and integration tests?",
    "How do I run only some tests or ignore a test?",
    "How do the assert_eq and assert macros report failures?",
    "How do I read command line arguments and environment variables?",
    "What are closures and how do they capture their environment?",
    "What are the Fn, FnMut and FnOnce traits?",
    "How do iterators and the Iterator trait's next method work?",
    "Why are iterator adapters such as map and filter lazy?",
    "Are iterators as fast as loops (zero-cost abstractions)?",
    "How do I publish a crate to crates.io?",
    "What are Cargo workspaces?",
    "When should I use Box<T> to store data on the heap?",
    "How does the Deref trait let smart pointers behave like references?",
    "What does the Drop trait do when a value goes out of scope?",
    "How does Rc<T> enable multiple ownership with reference counting?",
    "What is interior mutability with RefCell<T>?",
    "How can reference cycles leak memory and how does Weak<T> prevent them?",
    "How do I create a new thread with thread::spawn and wait with join?",
    "How do move closures transfer ownership of data to threads?",
    "How do threads communicate by sending messages over channels?",
    "How does Mutex<T> protect shared data between threads?",
    "Why do I need Arc<T> instead of Rc<T> to share data across threads?",
    "What do the Send and Sync traits mean?",
    "How do async functions and await work with futures?",
    "What are trait objects and dynamic dispatch with dyn?",
    "How do I implement the state pattern in Rust?",
    "Where can patterns be used and what are refutable patterns?",
    "How do match guards and the @ binding work?",
    "What can unsafe Rust do that safe Rust cannot?",
    "How do I dereference a raw pointer?",
    "What are associated types in traits?",
    "How do I overload operators such as + with traits?",
    "What is the newtype pattern?",
    "What are function pointers and how do I return closures?",
    "How do declarative macros with macro_rules work?",
    "What are procedural macros and custom derive macros?",
    "How do I build a multithreaded web server with a thread pool?",
];

#[cfg(test)]
mod tests {
    use super::QUESTIONS;

    #[test]
    fn there_are_at_least_fifty_distinct_questions() {
        let mut sorted = QUESTIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), QUESTIONS.len());
        assert!(QUESTIONS.len() >= 50);
    }
}
