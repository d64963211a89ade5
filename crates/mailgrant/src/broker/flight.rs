//! Single-flight: however many callers ask for the same key at once, one
//! future runs and every caller gets (a clone of) its result. If the running
//! caller is cancelled, a waiting one takes over (tokio's `OnceCell`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

pub(crate) struct SingleFlight<T> {
    flights: Mutex<HashMap<String, Arc<OnceCell<T>>>>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        Self {
            flights: Mutex::default(),
        }
    }
}

impl<T: Clone> SingleFlight<T> {
    pub(crate) async fn run<F, Fut>(&self, key: &str, work: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let cell = self
            .flights
            .lock()
            .expect("flight map poisoned")
            .entry(key.to_owned())
            .or_default()
            .clone();
        let value = cell.get_or_init(work).await.clone();
        // The flight is over: the next caller starts a new one.
        let mut flights = self.flights.lock().expect("flight map poisoned");
        if flights.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            flights.remove(key);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_later_callers_start_another() {
        let flight = Arc::new(SingleFlight::<usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let callers = (0..100).map(|_| {
            let (flight, runs) = (flight.clone(), runs.clone());
            tokio::spawn(async move {
                flight
                    .run("user", || async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 1
                    })
                    .await
            })
        });
        let results = futures::future::join_all(callers).await;
        assert!(results.into_iter().all(|r| r.unwrap() == 1));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(flight.flights.lock().unwrap().is_empty());
        let later = flight.run("user", || async { 7 }).await;
        assert_eq!(later, 7);
    }
}
